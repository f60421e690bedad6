echo "hello from sh"
