# Sourced by the comparison scripts: sets Postfix up as a plain relay on loopback, without
# systemd, the way an operator would for a side-by-side run.
#   postfix_setup IN_PORT SINK_PORT [defer]  writes /etc/postfix/main.cf (marked as ours) and
#                                            master.cf entries; "defer" queues without delivering
#   postfix_start / postfix_stop / postfix_queue_count / postfix_flush_queue
# Default durability: Postfix fsyncs each queue file before answering 250, like ringmta.
# It refuses to touch a Postfix whose main.cf it did not write.

POSTFIX_MARK="# managed by ringmta bench (postfix-relay.sh)"
POSTFIX_QDIR=/var/spool/postfix

postfix_setup() {
  local in_port=$1 sink_port=$2 mode=${3:-relay}
  if [ -f /etc/postfix/main.cf ] && ! grep -qF "$POSTFIX_MARK" /etc/postfix/main.cf; then
    echo "postfix-relay: /etc/postfix/main.cf was not written by this script; not touching it" >&2
    return 1
  fi
  postfix_stop
  cat > /etc/postfix/main.cf <<CF
$POSTFIX_MARK
compatibility_level = 3.6
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
local_transport = error:local delivery is disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
relayhost = [127.0.0.1]:$sink_port
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtputf8_enable = no
biff = no
append_dot_mydomain = no
maillog_file = /var/log/postfix-bench.log
default_process_limit = 100
message_size_limit = 52428800
CF
  if [ "$mode" = defer ]; then postconf -e "defer_transports = smtp"; fi
  postconf -MX smtp/inet >/dev/null 2>&1 || true
  for svc in $(postconf -M | awk '$2=="inet"{print $1}'); do
    postconf -MX "$svc/inet" >/dev/null 2>&1 || true
  done
  postconf -M "127.0.0.1:$in_port/inet=127.0.0.1:$in_port inet n - n - - smtpd"
  postconf -F '*/*/chroot = n'
  [ -n "$(postconf -M postlog/unix-dgram 2>/dev/null)" ] || \
    postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
  : > /var/log/postfix-bench.log
}

postfix_start() {
  postfix start >/dev/null 2>&1 || { postfix check; return 1; }
  postsuper -d ALL >/dev/null 2>&1 || true
}

postfix_stop() {
  if postfix status >/dev/null 2>&1; then
    local mpid
    mpid=$(tr -d ' ' < $POSTFIX_QDIR/pid/master.pid 2>/dev/null || true)
    postsuper -d ALL >/dev/null 2>&1 || true
    postfix stop >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
  fi
}

postfix_queue_count() {
  find $POSTFIX_QDIR/maildrop $POSTFIX_QDIR/incoming $POSTFIX_QDIR/active $POSTFIX_QDIR/deferred \
       $POSTFIX_QDIR/hold -type f 2>/dev/null | wc -l
}

postfix_flush_queue() { postsuper -d ALL >/dev/null 2>&1 || true; }
