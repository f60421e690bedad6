#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* getpid through one ABI; prints "ABI: pid N" or "ABI: error MSG". */
int main(int argc, char **argv) {
    const char *abi = argc > 1 ? argv[1] : "native";
    long r;
    if (strcmp(abi, "x32") == 0) {
        r = syscall(0x40000000L | SYS_getpid);
    } else if (strcmp(abi, "i386") == 0) {
        long ret;
        /* i386 getpid is 20; int 0x80 enters the kernel's 32-bit syscall path. */
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
        if (ret < 0 && ret > -4096) { errno = (int)-ret; r = -1; } else { r = ret; }
    } else {
        r = syscall(SYS_getpid);
    }
    if (r < 0) printf("%s: error %s\n", abi, strerror(errno));
    else printf("%s: pid %ld\n", abi, r);
    fflush(stdout);
    return 0;
}
