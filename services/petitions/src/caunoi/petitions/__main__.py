from caunoi.petitions.app import main

main()
