#!/usr/bin/env bash
# A single-node Slurm cluster for the tests, entirely under one folder:
#   scripts/slurm-cluster.sh start DIR   installs Debian's slurm-wlm and munge
#                                        when missing, writes DIR/slurm.conf
#                                        (this host, CPUs from nproc, memory
#                                        from free), starts munged, slurmctld
#                                        and slurmd, and waits until the node
#                                        takes jobs
#   scripts/slurm-cluster.sh stop DIR    stops the three daemons by PID
# Commands then need SLURM_CONF=DIR/slurm.conf. The daemons run as the
# current user (root in CI), on free local ports, with state, spool, logs
# and the munge socket in DIR.
set -euo pipefail
action="${1:?usage: slurm-cluster.sh start|stop DIR}"
dir="${2:?usage: slurm-cluster.sh start|stop DIR}"

stop() {
  for daemon in slurmd slurmctld munged; do
    pidfile="$dir/run/$daemon.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi
[ "$action" = start ] || { echo "usage: slurm-cluster.sh start|stop DIR" >&2; exit 2; }

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  echo "installing Debian's slurm-wlm and munge"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge > /dev/null
fi
PATH="$PATH:/usr/sbin:/sbin"

mkdir -p "$dir"/{munge,state,spool,log,run}
dir=$(cd "$dir" && pwd)
chmod 700 "$dir/munge"
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
host=$(hostname -s)
cpus=$(nproc)
memory_mb=$(free -m | awk '/^Mem:/ { print int($2 * 0.9) }')
user=$(id -un)

head -c 1024 /dev/urandom > "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed"

cat > "$dir/slurm.conf" <<CONF
# Single-node test cluster written by scripts/slurm-cluster.sh.
ClusterName=trendlab-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$user
SlurmdUser=$user
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
# Lowered from Slurm's 1001 so that a test submits a group larger than it
# (as several arrays); the quickstart's 21 units still fit one array.
MaxArraySize=40
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 1 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mixed|allocated) echo "slurm: node $host $state ($cpus CPUs, $memory_mb MB), SLURM_CONF=$SLURM_CONF"; exit 0 ;;
  esac
  sleep 1
done
echo "slurm did not start; logs:" >&2
tail -20 "$dir"/log/*.log >&2
stop
exit 1
