# The io profile's workload in busybox sh, builtins only (io has no fork): write and read
# back files under /tmp and /output.
echo "scratch data" > /tmp/scratch.txt
read line < /tmp/scratch.txt
echo "tmp: $line"
echo "result: 42" > /output/result.txt
read line < /output/result.txt
echo "output: $line"
echo "io: done"
