"""GET a URL and print the body (the GPU image may lack curl); one line on stderr and exit 1 if it fails."""

import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as reply:
        sys.stdout.write(reply.read().decode())
except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
    sys.exit(f"GET {sys.argv[1]}: {e}")
