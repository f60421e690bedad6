# A shell script for the image runner of `make demo`: its sh and busybox come from the image.
echo "hello from $(busybox | head -n 1 | cut -d' ' -f1-2), the image's shell"
