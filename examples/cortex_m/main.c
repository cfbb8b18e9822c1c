/* Runs the exported model (model.h, from sbt-export --prefix model) on the windows of
 * windows.h and prints every output's float bits in hex, one per line, through
 * semihosting: the host compares them with sbt-predict's. */
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "windows.h"

void host_puts(const char *s);

static void put_bits(float v) {
    static const char digits[] = "0123456789abcdef";
    uint32_t bits;
    char line[10];
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++) line[i] = digits[(bits >> (28 - 4 * i)) & 0xF];
    line[8] = '\n';
    line[9] = '\0';
    host_puts(line);
}

int main(void) {
    static float out[MODEL_OUTPUTS];
    for (int w = 0; w < N_WINDOWS; w++) {
        if (model_predict(WINDOWS[w], WINDOW_STEPS, out)) return 1;
        for (int k = 0; k < MODEL_OUTPUTS; k++) put_bits(out[k]);
    }
    return 0;
}
