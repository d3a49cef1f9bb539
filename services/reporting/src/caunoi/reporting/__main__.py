from caunoi.reporting.bootstrap import main

main()
