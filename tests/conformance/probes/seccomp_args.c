#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One getppid call per argument "A0,A1,...,A5" (hex, missing ones are 0).
   Prints "ok" or "errno N" per call. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        unsigned long a[6] = {0};
        char *p = argv[i];
        for (int j = 0; j < 6 && *p; j++) {
            a[j] = strtoul(p, &p, 16);
            if (*p == ',') p++;
        }
        errno = 0;
        long r = syscall(SYS_getppid, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r < 0) printf("errno %d\n", errno);
        else printf("ok\n");
    }
    return 0;
}
