# Install-time part of `make install` (runs with the prefix given to
# `cmake --install --prefix`): the systemd units with this prefix's paths,
# and the example configuration, which never overwrites an existing one.
# TD_SRC is the source tree.
set(td_prefix "${CMAKE_INSTALL_PREFIX}")
if(td_prefix STREQUAL "/usr")
  set(td_etc "/etc")
else()
  set(td_etc "${td_prefix}/etc")
endif()
foreach(unit tickerd.service tickerd-gateway@.service)
  file(READ "${TD_SRC}/contrib/systemd/${unit}" text)
  string(REPLACE "/usr/local/bin/" "${td_prefix}/bin/" text "${text}")
  string(REPLACE "/usr/local/etc/" "${td_etc}/" text "${text}")
  set(dest "$ENV{DESTDIR}${td_prefix}/lib/systemd/system/${unit}")
  message(STATUS "Installing: ${dest}")
  file(WRITE "${dest}" "${text}")
endforeach()
set(conf "$ENV{DESTDIR}${td_etc}/tickerd/tickerd.conf")
if(EXISTS "${conf}")
  message(STATUS "Keeping: ${conf} (the example is in share/doc/tickerd)")
else()
  message(STATUS "Installing: ${conf}")
  file(INSTALL "${TD_SRC}/examples/tickerd.conf" DESTINATION "$ENV{DESTDIR}${td_etc}/tickerd"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE)
endif()
