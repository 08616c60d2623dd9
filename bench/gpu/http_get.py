"""GET a URL and print the body (the GPU image may lack curl); --wait retries until it answers 200."""

import sys
import time
import urllib.error
import urllib.request

url, wait = sys.argv[1], "--wait" in sys.argv
while True:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            sys.stdout.write(reply.read().decode())
            break
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        if not wait:
            raise
        time.sleep(0.5)
