from caunoi.petitions.bootstrap import main

main()
