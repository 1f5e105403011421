# Sourced by the comparison scripts: a private Postfix instance, a plain relay on loopback,
# without systemd. Everything lives in one directory the caller creates (config, queue, data,
# log); the system instance's main.cf, master.cf and /var/spool/postfix are neither read nor
# written (only the package's own files in /etc/postfix, postfix-files and dynamicmaps.cf, are
# read, as by any instance).
#   postfix_setup DIR IN_PORT SINK_PORT [defer]  writes DIR/etc/main.cf and master.cf, makes
#                                                the queue; "defer" queues without delivering
#   postfix_start DIR / postfix_stop DIR / postfix_remove DIR (stop, then rm -rf DIR)
#   postfix_queue_count DIR / postfix_flush_queue DIR / postfix_master_pid DIR
#   postfix_same_disk DIR PATH                   warns unless the queue is on PATH's filesystem
# Default durability: Postfix fsyncs each queue file before answering 250, like ringmta.
# Postfix takes a config directory other than the default from root without it being listed
# in the default main.cf's alternate_config_directories (that list binds only the set-gid
# postqueue/postdrop run by other users), and without a default main.cf at all.

POSTFIX_MARK="# managed by ringmta bench (postfix-relay.sh)"

postfix_setup() {
  local dir=$1 in_port=$2 sink_port=$3 mode=${4:-relay}
  local conf=$dir/etc
  [ -d "$dir" ] || { echo "postfix-relay: $dir is not a directory" >&2; return 1; }
  # like /var/spool/postfix: root-owned and traversable; postfix check makes the subdirectories
  chmod 755 "$dir"
  mkdir -p "$conf" "$dir/spool"
  cat > "$conf/main.cf" <<CF
$POSTFIX_MARK
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
# the default prefixes (/var, /dev/stdout) would refuse a log under another parent than /var
maillog_file_prefixes = $dir
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
default_process_limit = 100
message_size_limit = 52428800
CF
  if [ "$mode" = defer ]; then echo "defer_transports = smtp" >> "$conf/main.cf"; fi
  # Debian's stock master.cf (what /etc/postfix/master.cf starts as), then: no port-25 (or any
  # other inet) listener, smtpd on 127.0.0.1:IN_PORT, no chroot (nothing is copied into one
  # without the init script), and the postlog service that writes maillog_file (no /dev/log).
  cp /usr/share/postfix/master.cf.dist "$conf/master.cf"
  local svc
  for svc in $(postconf -c "$conf" -M | awk '$2=="inet"{print $1}'); do
    postconf -c "$conf" -MX "$svc/inet"
  done
  postconf -c "$conf" -M "127.0.0.1:$in_port/inet=127.0.0.1:$in_port inet n - n - - smtpd"
  postconf -c "$conf" -F '*/*/chroot = n'
  [ -n "$(postconf -c "$conf" -M postlog/unix-dgram 2>/dev/null)" ] || \
    postconf -c "$conf" -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
  # creates the queue subdirectories and data_directory with the Debian package's postfix
  # user and postdrop group, as post-install does for /var/spool/postfix
  postfix -c "$conf" check
}

postfix_master_pid() {
  local f=$1/spool/pid/master.pid
  if [ -f "$f" ]; then tr -d ' ' < "$f"; fi
}

postfix_start() {
  postfix -c "$1/etc" start >/dev/null 2>&1 || { postfix -c "$1/etc" check; return 1; }
}

postfix_stop() {
  local dir=$1 mpid
  [ -f "$dir/etc/main.cf" ] || return 0
  mpid=$(postfix_master_pid "$dir")
  postfix -c "$dir/etc" status >/dev/null 2>&1 && postfix -c "$dir/etc" stop >/dev/null 2>&1
  [ -n "$mpid" ] || return 0
  # the master runs in its own session (pgid = its pid) and takes its children down with it;
  # wait for all of them (zombies aside: reaping is up to their parent), so that nothing
  # writes into DIR while it is removed
  for _ in $(seq 1 100); do
    ps -e -o pgid=,stat= | awk -v g="$mpid" '$1 == g && $2 !~ /^Z/ {found = 1}
                                           END {exit !found}' || return 0
    sleep 0.1
  done
  kill -KILL -- "-$mpid" 2>/dev/null || true
}

postfix_remove() {
  local dir=$1
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  postfix_stop "$dir"
  rm -rf "$dir"
}

postfix_queue_count() {
  local q=$1/spool
  find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" "$q/hold" -type f 2>/dev/null | wc -l
}

postfix_flush_queue() { postsuper -c "$1/etc" -d ALL >/dev/null 2>&1 || true; }

postfix_same_disk() {
  local q=$1/spool
  if [ "$(stat -c %d "$q")" != "$(stat -c %d "$2")" ]; then
    echo "postfix-relay: warning: Postfix's queue $q and $2 are on different filesystems;" \
         "the durability costs compared are not the same disk's" >&2
  fi
}
