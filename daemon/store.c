/* store.c: written next */
