//go:build openssl && cgo

// Package memcount counts libcrypto's live heap blocks, so that the tests of
// opensslsign can prove that signing and closing keys leak nothing.
package memcount

/*
#cgo LDFLAGS: -lcrypto
#include <stdlib.h>
#include <openssl/crypto.h>

static long live; // malloc'd minus freed blocks, atomically

static void count_free(void *p, const char *file, int line);

static void *count_malloc(size_t n, const char *file, int line) {
	void *p = malloc(n);
	if (p != NULL) __atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	return p;
}

static void *count_realloc(void *old, size_t n, const char *file, int line) {
	if (old == NULL) return count_malloc(n, file, line);
	if (n == 0) {
		count_free(old, file, line);
		return NULL;
	}
	return realloc(old, n);
}

static void count_free(void *p, const char *file, int line) {
	if (p != NULL) __atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	free(p);
}

static int count_install(void) {
	return CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free);
}

static long count_live(void) { return __atomic_load_n(&live, __ATOMIC_RELAXED); }
*/
import "C"

// Install routes libcrypto's allocations through the counter. It must run before
// libcrypto allocates anything (first thing in TestMain); it reports false otherwise.
func Install() bool { return C.count_install() == 1 }

// Live is the number of blocks libcrypto has allocated and not freed since Install.
func Live() int64 { return int64(C.count_live()) }
