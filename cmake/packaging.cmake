# Debian packages, one per daemon: `cpack -G DEB` in the build directory (or `make package`)
# gives mingus-agent_VERSION_ARCH.deb and mingus-collector_VERSION_ARCH.deb.
#   binaries                /usr/bin
#   default configs         /etc/mingus (conffiles: an upgrade keeps the admin's edits)
#   data                    /var/lib/mingus/{agent,collector}, made by systemd (StateDirectory)
#   dashboards, rules       /usr/share/mingus
#   systemd units           /lib/systemd/system
# The web dashboard is compiled into mingus-collector, so it has no files of its own.

set(MINGUS_DOC_DIR share/doc)

# The Debian changelog and copyright every package carries (lintian insists).
string(TIMESTAMP MINGUS_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(MINGUS_PACKAGE_VERSION ${PROJECT_VERSION})
set(MINGUS_MAINTAINER "Mingus Monitor developers <dev@mingus-monitor.org>")

foreach(component agent collector)
  set(package mingus-${component})
  set(doc ${CMAKE_CURRENT_BINARY_DIR}/packaging/${package})
  configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/changelog.in ${doc}/changelog @ONLY)
  # gzip -n: no name or time stamp in the archive, so the package is reproducible.
  execute_process(COMMAND gzip -9nf ${doc}/changelog)
  install(FILES ${doc}/changelog.gz ${PROJECT_SOURCE_DIR}/packaging/debian/copyright
          DESTINATION ${MINGUS_DOC_DIR}/${package} COMPONENT ${component})
  install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${MINGUS_DOC_DIR}/${package}
          COMPONENT ${component})
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/${package}.service
          DESTINATION /lib/systemd/system COMPONENT ${component})
  install(FILES ${PROJECT_SOURCE_DIR}/configs/${component}.yaml DESTINATION /etc/mingus
          COMPONENT ${component})
endforeach()

install(TARGETS mingus-agent RUNTIME DESTINATION bin COMPONENT agent)
install(TARGETS mingus-collector RUNTIME DESTINATION bin COMPONENT collector)
install(FILES ${PROJECT_SOURCE_DIR}/configs/notify.yaml DESTINATION /etc/mingus COMPONENT collector)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/rules DESTINATION /etc/mingus COMPONENT collector)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/dashboards/ DESTINATION share/mingus/dashboards
        COMPONENT collector FILES_MATCHING PATTERN "*.json" PATTERN "*.yaml" PATTERN "*.md")

# Everything under /etc/mingus is a conffile.
file(GLOB rule_files RELATIVE ${PROJECT_SOURCE_DIR}/configs ${PROJECT_SOURCE_DIR}/configs/rules/*)
set(collector_conffiles /etc/mingus/collector.yaml /etc/mingus/notify.yaml)
foreach(rule_file ${rule_files})
  list(APPEND collector_conffiles /etc/mingus/${rule_file})
endforeach()
list(JOIN collector_conffiles "\n" collector_conffiles)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/packaging/agent/conffiles "/etc/mingus/agent.yaml\n")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/packaging/collector/conffiles "${collector_conffiles}\n")
foreach(component agent collector)
  # Enables and starts the service on install, stops it on removal (what debhelper would write).
  set(package mingus-${component})
  configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/postinst.in
                 ${CMAKE_CURRENT_BINARY_DIR}/packaging/${component}/postinst @ONLY)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/prerm.in
                 ${CMAKE_CURRENT_BINARY_DIR}/packaging/${component}/prerm @ONLY)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/debian/postrm.in
                 ${CMAKE_CURRENT_BINARY_DIR}/packaging/${component}/postrm @ONLY)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mingus)
set(CPACK_PACKAGE_VENDOR "Mingus Monitor")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${MINGUS_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent collector)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/mingus-monitor/mingus")
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME mingus-agent)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME mingus-collector)
string(CONCAT CPACK_DEBIAN_AGENT_DESCRIPTION
       "host metrics and application events for Prometheus\n"
       "The Mingus Monitor agent runs beside each application: host metrics from /proc\n"
       "and /sys, StatsD, DogStatsD and JSON events over UDP, served as Prometheus\n"
       "metrics, and a spool of analytics events for the collector.")
string(CONCAT CPACK_DEBIAN_COLLECTOR_DESCRIPTION
       "storage, PromQL, alerting and dashboards for Mingus Monitor\n"
       "The collector scrapes agents as Prometheus does, stores series, answers PromQL,\n"
       "evaluates alert rules, notifies by email, Slack and webhook, and serves the\n"
       "dashboard and the business and UX reports.")
foreach(component AGENT COLLECTOR)
  string(TOLOWER ${component} lower)
  set(CPACK_DEBIAN_${component}_PACKAGE_CONTROL_EXTRA
      ${CMAKE_CURRENT_BINARY_DIR}/packaging/${lower}/conffiles
      ${CMAKE_CURRENT_BINARY_DIR}/packaging/${lower}/postinst
      ${CMAKE_CURRENT_BINARY_DIR}/packaging/${lower}/prerm
      ${CMAKE_CURRENT_BINARY_DIR}/packaging/${lower}/postrm)
  set(CPACK_DEBIAN_${component}_PACKAGE_CONTROL_STRICT_PERMISSION ON)
endforeach()
include(CPack)
