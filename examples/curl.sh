# curl commands as DevTools' "Copy as cURL (bash)" and documentation give
# them; --import makes a script of one task each (equal weights):
#
#   python hammer.py --import examples/curl.sh --import-out curl_tasks.py
#   python hammer.py http://127.0.0.1:8000/ --script curl_tasks.py -n 30

curl 'http://127.0.0.1:8000/items' \
  -H 'Accept: text/html' \
  -H 'Accept-Language: en-US,en;q=0.9' \
  -H 'sec-ch-ua: "Chromium";v="131"' \
  -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64)' \
  --compressed

curl 'http://127.0.0.1:8000/items/2' -H 'Accept: text/html'

curl -s http://127.0.0.1:8000/echo --json '{"q": "hammer", "page": 1}'
