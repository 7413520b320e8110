# SimpulSanitize.cmake: what a sanitizer build adds beyond its compiler flags. tests/run
# --sanitize=... passes it as CMAKE_PROJECT_INCLUDE (read right after project()) together with
# SIMPUL_SANITIZE and the -fsanitize flags in CMAKE_CXX_FLAGS and the linker flags.
#
# SIMPUL_SANITIZE=thread: every executable also links cmake/tsan/absl_sync_annotations.cc,
# which makes Debian's uninstrumented absl::Mutex, absl::CondVar and absl::Notification
# visible to ThreadSanitizer (see that file). The executables are only known once every
# CMakeLists.txt has run, so the linking is deferred to the end of the top directory.
set(SIMPUL_SANITIZE "" CACHE STRING "Sanitizer of this build: address, thread or empty")

if(SIMPUL_SANITIZE STREQUAL "thread")
  add_library(simpul_tsan_absl_sync OBJECT ${CMAKE_CURRENT_LIST_DIR}/tsan/absl_sync_annotations.cc)
  find_package(absl CONFIG REQUIRED)
  target_link_libraries(simpul_tsan_absl_sync PUBLIC absl::synchronization ${CMAKE_DL_LIBS})

  function(simpul_link_tsan_annotations dir)
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      get_target_property(type ${target} TYPE)
      if(type STREQUAL "EXECUTABLE")
        target_link_libraries(${target} PRIVATE simpul_tsan_absl_sync)
      endif()
    endforeach()
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    foreach(subdir IN LISTS subdirs)
      simpul_link_tsan_annotations(${subdir})
    endforeach()
  endfunction()
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR}
                 CALL simpul_link_tsan_annotations ${CMAKE_SOURCE_DIR})
endif()
