/* test_fuzz_replay.c - replay the saved libFuzzer corpus (tests/fuzz/proto/) through proto_fuzz_one, built with gcc. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define CORPUS "tests/fuzz/proto"

static void test_replay_corpus(void **state)
{
	DIR *d = opendir(CORPUS);
	struct dirent *e;
	int files = 0;
	size_t bytes = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		uint8_t *buf = malloc(1 << 20);
		assert_non_null(buf);
		size_t n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		/* aborts (failing the test) on any broken invariant */
		proto_fuzz_one(buf, n);
		free(buf);
		files++;
		bytes += n;
	}
	closedir(d);
	printf("# replayed %d corpus files, %zu bytes\n", files, bytes);
	assert_true(files >= 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_corpus),
	};
	return VS_RUN_TESTS(tests);
}
