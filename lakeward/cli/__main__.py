from lakeward.cli.main import main

main()
