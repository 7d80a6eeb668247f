#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the words read from standard input. */
static int is_space(int c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    long words = 0;
    int c, in_word = 0;
    while ((c = getchar()) != EOF) {
        if (is_space(c)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    printf("%ld\n", words);
    return EXIT_SUCCESS;
}
