/* The whole user space of tools/avx512-emu.sh's guest: the kernel runs this as /init from the initramfs. It mounts
 * what a program expects (/proc, /sys, /dev, /tmp), puts the serial console on stdin/out/err, runs /testbin with
 * the NUL-separated arguments in /args, reaps it, prints "TT-EMU-EXIT <status>" (128 + the signal when one killed
 * it) for the host script to read from the serial log, and powers the machine off.
 *   gcc -O2 -static tools/avx512-emu-init.c -o init */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void say(const char *s) {
  if (write(1, s, strlen(s)) < 0) return;
}

static void power_off(void) {
  sync();
  tcdrain(1);
  reboot(RB_POWER_OFF);
  /* if the kernel could not (no ACPI): Bochs's own shutdown port */
  if (iopl(3) == 0)
    for (const char *p = "Shutdown"; *p; p++) outb((unsigned char)*p, 0x8900);
  for (;;) pause();
}

int main(void) {
  mkdir("/dev", 0755), mkdir("/proc", 0755), mkdir("/sys", 0755), mkdir("/tmp", 01777);
  mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
  mount("proc", "/proc", "proc", 0, 0);
  mount("sysfs", "/sys", "sysfs", 0, 0);
  mount("tmpfs", "/tmp", "tmpfs", 0, 0);
  mkdir("/dev/shm", 01777);
  mount("tmpfs", "/dev/shm", "tmpfs", 0, 0);
  int fd = open("/dev/console", O_RDWR);
  if (fd < 0) fd = open("/dev/ttyS0", O_RDWR);
  if (fd >= 0) {
    dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
    if (fd > 2) close(fd);
  }

  static char args[1 << 16];
  char *argv[1024];
  int argc = 0;
  argv[argc++] = "/testbin";
  int af = open("/args", O_RDONLY);
  if (af >= 0) {
    ssize_t n = read(af, args, sizeof args - 1);
    close(af);
    for (ssize_t i = 0; i < n && argc < 1023; i += (ssize_t)strlen(args + i) + 1) argv[argc++] = args + i;
  }
  argv[argc] = 0;
  char *envp[] = { "PATH=/", "HOME=/", "TERM=dumb", 0 };

  say("TT-EMU-START\n");
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir("/") == 0) execve("/testbin", argv, envp);
    perror("execve /testbin");
    _exit(127);
  }
  int status = 0, code = 255;
  for (pid_t w; (w = wait(&status)) >= 0;) /* as pid 1, every orphan is ours to reap too */
    if (w == pid) break;
  if (WIFEXITED(status)) code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) code = 128 + WTERMSIG(status);
  char line[48];
  snprintf(line, sizeof line, "\nTT-EMU-EXIT %d\n", code);
  tcdrain(1);
  say(line);
  power_off();
  return 0;
}
