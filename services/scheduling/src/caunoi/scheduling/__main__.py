from caunoi.scheduling.bootstrap import main

main()
