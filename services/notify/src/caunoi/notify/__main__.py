from caunoi.notify.bootstrap import main

main()
