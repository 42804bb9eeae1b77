from sealchat.cli import main

main()
