/*
 * cfntools' launcher: starts the programs the tools run, so that each one
 * costs a vfork of this small process instead of a fork of
 * the whole JavaScript runtime, whose cost grows with its memory. It uses
 * vfork, not posix_spawn: glibc's posix_spawn leaves the signals it keeps
 * for itself (32 and 33) ignored in the program it starts.
 *
 * One launcher serves one tool process, over its stdin (requests) and stdout
 * (events); it dies with that process (PR_SET_PDEATHSIG, and at the end of
 * its stdin). Frames in both directions: type (1 byte), id (u32), payload
 * length (u32), payload; integers little-endian.
 *
 * Request 'S' (spawn), payload: flags u32, argc u32, envc u32, input length
 * u32, then NUL-terminated strings: working directory ("" for none), file,
 * argc arguments, envc "NAME=value" entries; then the input bytes.
 * Flags: 1 = a session of its own (setsid); 2 = stdin is a pipe fed the
 * input (otherwise /dev/null).
 *
 * Events: 'P' started in a session of its own (pid u32: the id of its
 * process group, which a timeout ends; only then sent); 'F' could not start (stage u32: 1 working
 * directory, 2 program, 3 launcher resources; errno u32), the last event of
 * that id; '1' / '2' stdout / stderr bytes; 'W' exited (wait status u32);
 * 'X' done: after 'W', once both outputs reached their end or GRACE_MS
 * passed with something else still holding them (a daemon started in the
 * background), when they are closed unread. The events of one pass of the
 * loop are written together.
 *
 * A malformed request is a bug of the tool: the launcher says so on stderr
 * and exits 2, and the tool sees every run in flight fail.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define GRACE_MS 1000
#define MAX_CHILDREN 256
#define MAX_PAYLOAD (64u << 20)
#define CHUNK 65536

enum { EV_STARTED = 'P', EV_FAILED = 'F', EV_STDOUT = '1', EV_STDERR = '2', EV_EXITED = 'W', EV_DONE = 'X' };
enum { STAGE_CWD = 1, STAGE_PROGRAM = 2, STAGE_RESOURCES = 3 };
enum { FLAG_SETSID = 1, FLAG_INPUT = 2 };

struct child {
  int used;
  uint32_t id;
  pid_t pid;
  int out[2]; /* stdout, stderr read ends; -1 once at their end */
  int in;     /* stdin write end while input remains, else -1 */
  char *input;
  size_t input_len, input_off;
  int exited;
  long long deadline; /* ms, once exited */
};

static struct child children[MAX_CHILDREN];
/* Every program's stdin but those given input. */
static int dev_null;

static void die(const char *what) {
  fprintf(stderr, "cfntools-launcher: %s\n", what);
  exit(2);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}

static uint32_t get_u32(const unsigned char *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Events wait here until the end of a pass of the loop, so that those of one pass (an exit and its end) wake the tool once. */
static unsigned char *pending;
static size_t pending_len, pending_cap;

static void flush(void) {
  size_t off = 0;
  while (off < pending_len) {
    ssize_t n = write(1, pending + off, pending_len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) exit(0); /* the tool is gone: so are we */
    off += (size_t)n;
  }
  pending_len = 0;
}

static void emit(char type, uint32_t id, const void *payload, uint32_t len) {
  size_t need = pending_len + 9 + len;
  if (need > pending_cap) {
    pending_cap = need * 2;
    pending = realloc(pending, pending_cap);
    if (!pending) die("out of memory");
  }
  unsigned char *head = pending + pending_len;
  head[0] = (unsigned char)type;
  put_u32(head + 1, id);
  put_u32(head + 5, len);
  if (len) memcpy(head + 9, payload, len);
  pending_len = need;
  if (pending_len >= CHUNK) flush();
}

static void emit_u32(char type, uint32_t id, uint32_t v) {
  unsigned char b[4];
  put_u32(b, v);
  emit(type, id, b, 4);
}

static void emit_failed(uint32_t id, uint32_t stage, int err) {
  unsigned char b[8];
  put_u32(b, stage);
  put_u32(b + 4, (uint32_t)err);
  emit(EV_FAILED, id, b, 8);
}

/* Reads exactly len bytes of the request stream; 0 at its end before any byte. */
static int read_exact(void *buf, size_t len) {
  char *p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(0, p + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("cannot read requests");
    if (n == 0) {
      if (got == 0) return 0;
      die("truncated request");
    }
    got += (size_t)n;
  }
  return 1;
}

/* The next NUL-terminated string of a payload, or NULL past its end. */
static char *next_string(char **at, char *end) {
  char *s = *at;
  char *nul = memchr(s, '\0', (size_t)(end - s));
  if (!nul) return NULL;
  *at = nul + 1;
  return s;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void release(struct child *c) {
  close_fd(&c->out[0]);
  close_fd(&c->out[1]);
  close_fd(&c->in);
  free(c->input);
  memset(c, 0, sizeof *c);
}

static struct child *free_slot(void) {
  for (int i = 0; i < MAX_CHILDREN; i++)
    if (!children[i].used) return &children[i];
  return NULL;
}

/* What went wrong in the child before exec, written there: vfork shares our memory until then. */
static volatile int child_stage, child_errno;

/* The program's pid, or -1; child_stage says whether it failed before exec (and has exited). */
static __attribute__((noinline)) pid_t start_program(uint32_t flags, int in, int out, int err, const char *cwd, const char *file, char **argv) {
  child_stage = 0;
  pid_t pid = vfork();
  if (pid != 0) return pid;
  /* Only system calls here, on this frame, until exec or _exit. */
  sigset_t none;
  sigemptyset(&none);
  if (((flags & FLAG_SETSID) && setsid() < 0) || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
      sigprocmask(SIG_SETMASK, &none, NULL) < 0) {
    child_errno = errno;
    child_stage = STAGE_RESOURCES;
    _exit(127);
  }
  if (*cwd && chdir(cwd) < 0) {
    child_errno = errno;
    child_stage = STAGE_CWD;
    _exit(127);
  }
  execvp(file, argv);
  child_errno = errno;
  child_stage = STAGE_PROGRAM;
  _exit(127);
}

static void spawn_child(uint32_t id, char *payload, uint32_t len) {
  if (len < 16) die("short spawn request");
  uint32_t flags = get_u32((unsigned char *)payload), argc = get_u32((unsigned char *)payload + 4);
  uint32_t envc = get_u32((unsigned char *)payload + 8), input_len = get_u32((unsigned char *)payload + 12);
  char *at = payload + 16, *end = payload + len;
  if (input_len > (uint32_t)(end - at) || argc == 0 || argc > len || envc > len) die("malformed spawn request");
  end -= input_len;
  char *cwd = next_string(&at, end), *file = next_string(&at, end);
  char **argv = calloc((size_t)argc + 1, sizeof *argv), **envp = calloc((size_t)envc + 1, sizeof *envp);
  if (!argv || !envp) die("out of memory");
  for (uint32_t i = 0; i < argc; i++) argv[i] = next_string(&at, end);
  for (uint32_t i = 0; i < envc; i++) envp[i] = next_string(&at, end);
  if (!cwd || !file || (argc && !argv[argc - 1]) || (envc && !envp[envc - 1]) || at != end) die("malformed spawn request strings");

  struct child *c = free_slot();
  int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1};
  int fail_stage = 0, fail_errno = 0;
  if (!c) {
    fail_stage = STAGE_RESOURCES;
    fail_errno = EAGAIN;
  } else if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || ((flags & FLAG_INPUT) && pipe2(in, O_CLOEXEC))) {
    fail_stage = STAGE_RESOURCES;
    fail_errno = errno;
  }
  pid_t pid = 0;
  if (!fail_stage) {
    /* execvp looks the program up on the PATH it is given to run with, as a shell would. */
    char **own = environ;
    environ = envp;
    pid = start_program(flags, flags & FLAG_INPUT ? in[0] : dev_null, out[1], err[1], cwd, file, argv);
    environ = own;
    if (pid < 0) {
      fail_stage = STAGE_RESOURCES;
      fail_errno = errno;
    } else if (child_stage) {
      fail_stage = child_stage;
      fail_errno = child_errno;
      waitpid(pid, NULL, 0);
    }
  }
  close_fd(&out[1]);
  close_fd(&err[1]);
  close_fd(&in[0]);
  free(argv);
  free(envp);
  if (fail_stage) {
    close_fd(&out[0]);
    close_fd(&err[0]);
    close_fd(&in[1]);
    emit_failed(id, (uint32_t)fail_stage, fail_errno);
    return;
  }
  c->used = 1;
  c->id = id;
  c->pid = pid;
  c->out[0] = out[0];
  c->out[1] = err[0];
  c->in = in[1];
  if (c->in >= 0) {
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    if (input_len) {
      c->input = malloc(input_len);
      if (!c->input) die("out of memory");
      memcpy(c->input, end, input_len);
      c->input_len = input_len;
    } else {
      close_fd(&c->in);
    }
  }
  if (flags & FLAG_SETSID) emit_u32(EV_STARTED, id, (uint32_t)pid);
}

static void feed_input(struct child *c) {
  ssize_t n = write(c->in, c->input + c->input_off, c->input_len - c->input_off);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  /* A program that exits without reading all its input is not our error (EPIPE). */
  if (n < 0 || (c->input_off += (size_t)n) == c->input_len) {
    close_fd(&c->in);
    free(c->input);
    c->input = NULL;
  }
}

static void drain_output(struct child *c, int which) {
  static char buf[CHUNK];
  ssize_t n = read(c->out[which], buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) close_fd(&c->out[which]);
  else emit(which ? EV_STDERR : EV_STDOUT, c->id, buf, (uint32_t)n);
}

static void reap(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (int i = 0; i < MAX_CHILDREN; i++) {
      struct child *c = &children[i];
      if (c->used && c->pid == pid && !c->exited) {
        c->exited = 1;
        c->deadline = now_ms() + GRACE_MS;
        emit_u32(EV_EXITED, c->id, (uint32_t)status);
      }
    }
  }
}

/* Done once exited and its outputs ended, or the grace is over. */
static void finish_done(void) {
  long long t = now_ms();
  for (int i = 0; i < MAX_CHILDREN; i++) {
    struct child *c = &children[i];
    if (c->used && c->exited && ((c->out[0] < 0 && c->out[1] < 0) || t >= c->deadline)) {
      emit(EV_DONE, c->id, NULL, 0);
      release(c);
    }
  }
}

static void read_request(void) {
  unsigned char head[9];
  if (!read_exact(head, sizeof head)) exit(0); /* the tool closed its end: nothing more to run */
  uint32_t id = get_u32(head + 1), len = get_u32(head + 5);
  if (head[0] != 'S') die("unknown request");
  if (len > MAX_PAYLOAD) die("request too large");
  char *payload = malloc(len ? len : 1);
  if (!payload) die("out of memory");
  read_exact(payload, len);
  spawn_child(id, payload, len);
  free(payload);
}

static void close_on_exec_from(int first) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) die("cannot list /proc/self/fd");
  int own = dirfd(d);
  for (struct dirent *e; (e = readdir(d));) {
    int fd = atoi(e->d_name);
    if (fd >= first && fd != own) fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  closedir(d);
}

int main(int argc, char **argv) {
  /* Started with the tool's pid: if the tool is already gone, the death signal would never come. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc != 2 || getppid() != (pid_t)strtol(argv[1], NULL, 10)) return 0;
  /* Programs start as from a fresh process: every signal at its default
   * (what whoever started the tool ignored included), and no descriptor but
   * their 0-2 (what the tool inherited without close-on-exec included):
   * everything the launcher holds closes on exec. */
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  int sfd = signalfd(-1, &blocked, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("no signalfd");
  close_on_exec_from(0);
  dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) die("cannot open /dev/null");

  static struct pollfd fds[2 + MAX_CHILDREN * 3];
  static struct child *owner[2 + MAX_CHILDREN * 3];
  static int role[2 + MAX_CHILDREN * 3];
  for (;;) {
    int n = 0;
    long long wait = -1, t = now_ms();
    fds[n++] = (struct pollfd){.fd = 0, .events = POLLIN};
    fds[n++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    for (int i = 0; i < MAX_CHILDREN; i++) {
      struct child *c = &children[i];
      if (!c->used) continue;
      for (int w = 0; w < 2; w++)
        if (c->out[w] >= 0) {
          owner[n] = c;
          role[n] = w;
          fds[n++] = (struct pollfd){.fd = c->out[w], .events = POLLIN};
        }
      if (c->in >= 0) {
        owner[n] = c;
        role[n] = 2;
        fds[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
      }
      if (c->exited) {
        long long left = c->deadline > t ? c->deadline - t : 0;
        if (wait < 0 || left < wait) wait = left;
      }
    }
    if (poll(fds, (nfds_t)n, (int)wait) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    /* Output first, so that what a program wrote before it exited precedes its exit. */
    for (int i = 2; i < n; i++) {
      if (!fds[i].revents) continue;
      if (role[i] == 2) feed_input(owner[i]);
      else if (owner[i]->out[role[i]] >= 0) drain_output(owner[i], role[i]);
    }
    if (fds[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      reap();
    }
    finish_done();
    if (fds[0].revents) read_request();
    flush();
  }
}
