from caunoi.scheduling.app import main

main()
