from console.cli.entry import main

main()
