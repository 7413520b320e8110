# simpul_cc_test(NAME name SRCS files... DEPS targets... [LABELS labels...])
# Builds one GoogleTest binary and registers each test with ctest. Tests that start a real
# redis-server carry the label "redis", end-to-end tests also "e2e".
# gtest_discover_tests flattens its PROPERTIES into one list, so a second label would be read
# as a property name: several labels are joined into one ("redis:e2e"). `ctest -L` takes a
# regular expression, so `-L e2e` and `-L redis` both select such a test.
function(simpul_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  list(JOIN ARG_LABELS ":" label)
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${label}"
    DISCOVERY_TIMEOUT 60)
endfunction()
