# twemproxy (Debian's nutcracker package) for docker/compose.yml.
# The pool config, docker/nutcracker.yml, is mounted by compose.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends nutcracker \
    && rm -rf /var/lib/apt/lists/*
USER nutcracker
EXPOSE 22121
# Stats port 22222 on the container's loopback, as the check script keeps it on 127.0.0.1
# (read it with: docker compose exec twemproxy bash -c 'cat </dev/tcp/127.0.0.1/22222').
CMD ["nutcracker", "-c", "/etc/nutcracker/slowpoke.yml", "-s", "22222", "-a", "127.0.0.1"]
