// The source of simpul_test_pch (cmake/SimpulTest.cmake): the target exists to compile the
// test binaries' shared precompiled header; it has no code of its own.
