*** Settings ***
Documentation     Story: runtime matrix, Java versions. The client offers Java 11, 17, 21 and 25 (the
...               crunjar profile's java_runtimes, set up by ``make deps``); the same JARs behave the
...               same on each ``java_version``, class files too new for a runtime fail with the JVM's
...               own UnsupportedClassVersionError, and the fingerprint lists every version.

Resource          runtimes.resource

Suite Setup       Start Java Matrix Agent
Suite Teardown    Stop Jobs And Check For Leaks
Test Template     Check Should Pass On Java

Test Tags         area:runtimes    story:runtime-matrix    needs:java-version    runtime:crun


*** Test Cases ***    CHECK    JAVA
Hello On Java 11    Hello Should Run    11
Hello On Java 17    Hello Should Run    17
Hello On Java 21    Hello Should Run    21
Hello On Java 25    Hello Should Run    25
Echo On Java 11    Echo Should Run    11
Echo On Java 17    Echo Should Run    17
Echo On Java 21    Echo Should Run    21
Echo On Java 25    Echo Should Run    25
Graceful Shutdown On Java 11    Graceful Shutdown Should Complete    11
Graceful Shutdown On Java 17    Graceful Shutdown Should Complete    17
Graceful Shutdown On Java 21    Graceful Shutdown Should Complete    21
Graceful Shutdown On Java 25    Graceful Shutdown Should Complete    25
Memory Limit On Java 11    Memory Limit Should Hold    11
Memory Limit On Java 17    Memory Limit Should Hold    17
Memory Limit On Java 21    Memory Limit Should Hold    21
Memory Limit On Java 25    Memory Limit Should Hold    25
Java 21 Class Files Are Refused By Java 11    Java 21 Class Files Should Be Refused    11
Java 21 Class Files Are Refused By Java 17    Java 21 Class Files Should Be Refused    17
Java 21 Class Files Run On Java 21    Java 21 Class Files Should Run    21
Java 21 Class Files Run On Java 25    Java 21 Class Files Should Run    25
Unset Java Version Picks The Newest Java
    [Documentation]    Without ``java_version`` (and no ``default_java_version`` in the plugin config) a
    ...    task runs on the newest Java the client has, as the driver documents, which the
    ...    fingerprint reports as its default_java_version.
    [Tags]    needs:crunjar-diagnostics
    [Template]    NONE
    ${driver}=    Get Driver Info
    Should Be Equal As Integers    ${driver}[Attributes][driver.crunjar.default_java_version]    ${JAVA_VERSIONS}[-1]
    ${version}=    Hello Should Run
    Should Be Equal    ${version}    ${driver}[Attributes][driver.crunjar.java.${JAVA_VERSIONS}[-1].version]
Fingerprint Lists Every Java Version
    [Documentation]    The driver's fingerprint has a version and a home attribute for each Java version
    ...    of the matrix, the version being what that home's ``java -version`` says.
    [Tags]    needs:crunjar-diagnostics
    [Template]    NONE
    ${driver}=    Get Driver Info
    FOR    ${major}    IN    @{JAVA_VERSIONS}
        ${home}=    Get From Dictionary    ${driver}[Attributes]    driver.crunjar.java.${major}.home
        ${version}=    Get From Dictionary    ${driver}[Attributes]    driver.crunjar.java.${major}.version
        Should Start With    ${version}    ${major}.
        ${release}=    Get File    ${home}/release
        Should Contain    ${release}    JAVA_VERSION="${version}"
    END
JDK Reached Through A Symlink Runs
    [Documentation]    ``java_home`` naming a symlink to a JDK (the matrix's stable homes are symlinks) runs
    ...    the task on that JDK.
    [Tags]    layout:symlink
    [Template]    NONE
    Hello Should Run With Java Home    /opt/crunjar-jdks/21    21
JDK Under A Path With A Space Runs
    [Documentation]    A JDK whose home has a space in its path is bound into the container at that path and
    ...    runs the task.
    [Tags]    layout:space
    [Template]    NONE
    ${dir}=    Evaluate    tempfile.mkdtemp(prefix="jdk layout ")    modules=tempfile
    Evaluate    os.chmod($dir, 0o755)    modules=os
    Evaluate    shutil.copytree(os.path.realpath("/opt/crunjar-jdks/11"), $dir + "/java 11", symlinks=True)
    ...    modules=shutil,os
    Hello Should Run With Java Home    ${dir}/java 11    11
    [Teardown]    Remove Directory    ${dir}    recursive=${True}


*** Keywords ***
Hello Should Run With Java Home
    [Documentation]    The hello JAR completes successfully with ``java_home`` and prints Java ``major``'s
    ...    version.
    [Arguments]    ${home}    ${major}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    config=${{ {"java_home": $home} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Contain    ${job}    java.version: ${major}.

Start Java Matrix Agent
    [Documentation]    Suite setup: skips the suite for a driver without java_version, else starts its
    ...    agent and checks that the matrix is installed (``make deps``).
    Skip If Driver Lacks A Needed Capability    java-version
    Start Shared Nomad Agent
    ${driver}=    Get Driver Info
    FOR    ${major}    IN    @{JAVA_VERSIONS}
        Dictionary Should Contain Key    ${driver}[Attributes]    driver.crunjar.java.${major}.home
        ...    Java ${major} is missing (run make deps): ${driver}[HealthDescription]
    END
