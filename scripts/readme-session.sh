#!/usr/bin/env bash
# The README's "A session with curl", run as written against the server at
# BASE (default http://localhost:8081), in the current directory (it writes
# photo.png and copy.png). scripts/readme-check.sh runs it against a fresh
# server; deploy/readme_test.go fails when it and the README differ.
set -euo pipefail

# README.md, "A session with curl", verbatim:
BASE=${BASE:-http://localhost:8081}   # make run serves on :8081

# register two accounts (the document's request body)
curl -s -X POST "$BASE/Tim/UserRegister" -H 'Content-Type: application/json' \
  -d '{"account":"123","password":"123456","username":"lxc","age":1,"sex":"male"}'
# {"code":200,"data":{"account":"123","age":1,"avatarUrl":null,"id":1,"onlineStatus":0,"sex":"male","username":"lxc"},"message":"注册成功"}
curl -s -X POST "$BASE/Tim/UserRegister" -H 'Content-Type: application/json' \
  -d '{"account":"b","password":"654321","username":"bob","age":2,"sex":"female"}'

# log in: data is [user, {"token": ...}]; keep the token in a variable
TOKEN=$(curl -s -X POST "$BASE/Tim/UserLogin" -H 'Content-Type: application/json' \
  -d '{"account":"123","password":"123456"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

# friends and groups: the token goes in a header named token
curl -s -H "token: $TOKEN" "$BASE/Tim/addFriend?UserAccount=123&FriendAccount=b"
curl -s -H "token: $TOKEN" "$BASE/Tim/getFriends?account=123"
curl -s -X POST -H "token: $TOKEN" "$BASE/Tim/joinGroup?UserAccount=123&GroupID=1"

# media: multipart POST, field "file"; the answer's data is the stored name
echo iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg== |
  base64 -d > photo.png   # a 1×1 PNG
NAME=$(curl -s -H "token: $TOKEN" -F file=@photo.png "$BASE/uploadchatpic" |
  sed -n 's/.*"data":"\([^"]*\)".*/\1/p')
curl -s -H "token: $TOKEN" -o copy.png "$BASE/downloadchatpic?filename=$NAME"
cmp photo.png copy.png && echo 'downloaded what was uploaded'

# log out: this token is revoked everywhere, also after a restart
curl -s -H "token: $TOKEN" "$BASE/Tim/UserLogout"
# {"code":200,"message":"退出成功"}
