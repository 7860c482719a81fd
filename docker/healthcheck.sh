#!/bin/bash
# Health check of the Slowpoke image: PING on 127.0.0.1:6379 over bash's /dev/tcp
# (the slim image has no redis-cli). AUTHs first when SLOWPOKE_PASSWORD is set.
# Healthy on +PONG; also on -NOAUTH (the server answers, but its password was
# given some other way than SLOWPOKE_PASSWORD). Port: SLOWPOKE_HEALTH_PORT (6379).
set -u
export LC_ALL=C   # ${#pw} counts bytes
port=${SLOWPOKE_HEALTH_PORT:-6379}
pw=${SLOWPOKE_PASSWORD:-}

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
if [ -n "$pw" ]; then
  # RESP arrays, so a password with spaces or quotes is sent as it is.
  printf '*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n' "${#pw}" "$pw" >&3 || exit 1
  IFS= read -r -t 4 reply <&3 || exit 1
  [ "$reply" = $'+OK\r' ] || { echo "AUTH: $reply"; exit 1; }
fi
printf '*1\r\n$4\r\nPING\r\n' >&3 || exit 1
IFS= read -r -t 4 reply <&3 || exit 1
exec 3>&-
case $reply in
  $'+PONG\r') exit 0 ;;
  -NOAUTH*) [ -z "$pw" ] && exit 0 ;;
esac
echo "PING: $reply"
exit 1
