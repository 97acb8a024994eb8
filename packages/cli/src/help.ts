/** One-line usage of each command (run, create and daemon print their own, longer help). */
const USAGES: Record<string, string> = {
  version: 'berth version [--format json]\n\nShow the client and berthd versions',
  info: 'berth info [--format json]\n\nShow berthd, its namespaces and this namespace\'s counts',
  images: 'berth images [-q] [--no-trunc] [--format json|TEMPLATE] [REPOSITORY[:TAG]]\n\nList images',
  load: 'berth load [-i FILE] [-q]\n\nLoad images from a docker save or OCI archive (or stdin)',
  save: 'berth save [-o FILE] IMAGE [IMAGE...]\n\nSave images to a tar archive (to stdout without -o): an OCI layout with Docker\'s manifest.json, which berth load, docker load and ctr images import read',
  import: 'berth import [-c CHANGE] [-m MESSAGE] [--platform OS/ARCH] FILE|- [REPOSITORY[:TAG]]\n\nCreate a one-layer image from a root filesystem tar (plain or gzip; - reads stdin) and print its id.\n-c applies Dockerfile instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, STOPSIGNAL, VOLUME)',
  rmi: 'berth rmi [-f] IMAGE [IMAGE...]\n\nRemove image names (by name or image id)',
  tag: 'berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nGive an image another name',
  start: 'berth start [-a] [-i] CONTAINER [CONTAINER...]\n\nStart stopped or created containers',
  stop: 'berth stop [-t SECONDS] [-s SIGNAL] CONTAINER [CONTAINER...]\n\nStop containers: the stop signal, then SIGKILL after the timeout (10 s)',
  kill: 'berth kill [-s SIGNAL] CONTAINER [CONTAINER...]\n\nSignal running containers (default SIGKILL)',
  rm: 'berth rm [-f] CONTAINER [CONTAINER...]\n\nRemove containers (running ones with -f)',
  ps: 'berth ps [-a] [-q] [--no-trunc] [--filter name=|id=|status=|label=|ancestor=] [--format json|TEMPLATE]\n\nList containers',
  exec: 'berth exec [-i] [-t] [-d] [-e K=V] [-w DIR] [-u UID[:GID]] CONTAINER COMMAND [ARG...]\n\nRun a command in a running container',
  logs: 'berth logs [-f] [-t] [--tail N] [--since TIME] [--until TIME] CONTAINER\n\nShow a container\'s output. -t: with the time each line was written; --since/--until: a duration before now (10m), an RFC 3339 time or unix seconds',
  attach: 'berth attach [--no-stdin] [--sig-proxy=false] CONTAINER\n\nAttach this terminal to a running container: its output from now on, and this stdin when it was run with -i. Exits with the container\'s code',
  export: 'berth export [-o FILE] CONTAINER\n\nExport a container\'s root filesystem as a tar archive (to stdout without -o)',
  inspect: 'berth inspect [--type container|image] [-f TEMPLATE] NAME [NAME...]\n\nShow details of containers or images as JSON',
  wait: 'berth wait CONTAINER [CONTAINER...]\n\nBlock until containers stop, then print their exit codes',
  restart: 'berth restart [-t SECONDS] [-s SIGNAL] CONTAINER [CONTAINER...]\n\nStop (as berth stop) then start containers',
  top: 'berth top CONTAINER\n\nShow a running container\'s processes as ps -ef does (UID PID PPID C STIME TTY TIME CMD, from the host\'s /proc)',
  stats: 'berth stats [--no-stream] [-a] [--no-trunc] [--format json|TEMPLATE] [CONTAINER...]\n\nShow containers\' CPU, memory and pids (cgroup metrics); CPU % is measured over 500 ms',
  system: 'berth system df [--format json|TEMPLATE]\n        berth system prune [-a] [-f]\n\ndf: space used by images and containers\nprune: remove stopped containers, then dangling images (-a: every image no container uses)',
  login: 'berth login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]\n\nStore registry credentials in $DOCKER_CONFIG/config.json (else ~/.docker/config.json) for berthd\'s pulls and pushes.\nThey are not checked here: the engine uses them on the next pull or push. SERVER defaults to Docker Hub',
  logout: 'berth logout [SERVER]\n\nRemove stored registry credentials (Docker Hub by default)',
  events: 'berth events [--format json] [--filter topic=TOPIC]\n\nStream berthd\'s events for this namespace',
};

/** The help text of `command`. */
export function usageOf(command: string): string {
  return `Usage:  ${USAGES[command] ?? `berth ${command}`}\n`;
}
