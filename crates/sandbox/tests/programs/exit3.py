# Writes to both streams and exits with status 3.
import sys

print("to stdout")
print("to stderr", file=sys.stderr)
sys.exit(3)
