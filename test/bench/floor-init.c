/*
 * The floor of cfn-init's bench on this machine: the same files and commands
 * as the generated metadata asks, done by a small C program with no parsing,
 * no validation and no logs. Files: each written to a temp beside its target
 * with its mode, one syncfs, the renames, one fsync per directory (what
 * durable-write.ts guarantees). Commands: `/bin/sh -c` by posix_spawn, stdin
 * /dev/null, output read through a pipe to its end.
 *
 * It does not parse JSON: it counts the file paths and commands in
 * /var/lib/heat-cfntools/cfn-init-data, whose shape the bench generates.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void fail(const char *what) {
  perror(what);
  exit(1);
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static void fsync_path(const char *path, int flags) {
  int fd = open(path, flags);
  if (fd < 0 || fsync(fd) < 0) fail(path);
  close(fd);
}

int main(void) {
  FILE *f = fopen("/var/lib/heat-cfntools/cfn-init-data", "r");
  if (!f) fail("cfn-init-data");
  static char text[64 << 20];
  size_t len = fread(text, 1, sizeof text - 1, f);
  text[len] = '\0';
  fclose(f);
  int files = count(text, "\"/srv/bench/d"), commands = count(text, "\"command\"");

  char path[256], temp[256], content[512];
  for (int d = 0; d < 10 && d < files; d++) {
    snprintf(path, sizeof path, "/srv/bench/d%d", d);
    if (mkdir(path, 0755) < 0) fail(path);
  }
  for (int i = 0; i < files; i++) {
    int n = 0;
    for (int line = 0; line < 4; line++) n += snprintf(content + n, sizeof content - n, "setting_%d = %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    snprintf(temp, sizeof temp, "/srv/bench/d%d/.tmp-%d", i % 10, i);
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, content, n) != n || fchmod(fd, 0644) < 0) fail(temp);
    close(fd);
  }
  if (files) {
    int fd = open("/srv/bench", O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) < 0) fail("syncfs");
    close(fd);
  }
  for (int i = 0; i < files; i++) {
    snprintf(temp, sizeof temp, "/srv/bench/d%d/.tmp-%d", i % 10, i);
    snprintf(path, sizeof path, "/srv/bench/d%d/f%d.conf", i % 10, i);
    if (rename(temp, path) < 0) fail(path);
  }
  for (int d = 0; d < 10 && d < files; d++) {
    snprintf(path, sizeof path, "/srv/bench/d%d", d);
    fsync_path(path, O_RDONLY | O_DIRECTORY);
  }
  if (files) fsync_path("/srv/bench", O_RDONLY | O_DIRECTORY);

  for (int i = 0; i < commands; i++) {
    char command[128];
    snprintf(command, sizeof command, "echo %d >> /srv/bench/commands.log", i);
    char *argv[] = {"/bin/sh", "-c", command, NULL};
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0) fail("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) fail("posix_spawn");
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    char buf[4096];
    while (read(out[0], buf, sizeof buf) > 0) {
    }
    close(out[0]);
    int status;
    if (waitpid(pid, &status, 0) < 0 || status != 0) fail(command);
  }
  return 0;
}
