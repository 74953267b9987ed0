"""How rehabgym's processes use the machine: threads (BLAS and torch kept on one thread, the
caller's settings given back) and the C library's allocator (heap trimming, the mmap threshold
of the processes rehabgym owns). Nothing here knows of arms, brains or therapy."""
