/* Minimal Cortex-M4 start-up for QEMU's mps2-an386 with semihosting: a vector table, .data
 * and .bss set up, the FPU on, main(), and the exit code back to the host. No libc beyond
 * libm; output goes through the semihosting SYS_WRITE0 call. */
#include <stdint.h>

extern uint32_t _data_load, _data_start, _data_end, _bss_start, _bss_end, _stack_top;
int main(void);

/* ARM semihosting: r0 = operation, r1 = argument; bkpt 0xAB traps to the debugger (QEMU). */
static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void host_puts(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */

static void host_exit(int code) {
    uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit, status */
    semihost(0x20, block);                          /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

void reset_handler(void) {
    uint32_t *src = &_data_load, *dst = &_data_start;
    while (dst < &_data_end) *dst++ = *src++;
    for (dst = &_bss_start; dst < &_bss_end;) *dst++ = 0;
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: CP10 and CP11 full access (FPU) */
    __asm__ volatile("dsb\n isb");
    host_exit(main());
}

__attribute__((section(".vectors"), used)) static const void *const vectors[2] = {&_stack_top,
                                                                                  (void *)reset_handler};
