*** Settings ***
Documentation     Story: error handling. A JAR that cannot run, a Java version or JDK that is missing or
...               broken, and a container crun refuses each fail the task before its JVM starts, with
...               the driver's own clear message in the task's events, and leave nothing behind.

Resource          ../../resources/scenarios.resource
Resource          crunjar.resource

Suite Setup       Start Shared Agent And Artifact Server
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:errors    story:error-handling    needs:crunjar-diagnostics


*** Variables ***
# What a test makes for its teardown; still None when a Test Setup skipped it before it made them.
${AGENT}        ${None}
${NOT_A_JDK}    ${None}
${FAKE}         ${None}


*** Test Cases ***
Truncated JAR Is Reported As Corrupted
    [Documentation]    Half a JAR is not a valid zip: the driver says so before starting a JVM.
    [Template]    Broken JAR Should Fail The Task
    corrupted.jar    is a corrupted JAR: zip: not a valid zip file

Empty Zip Is Reported As An Empty JAR
    [Documentation]    A zip archive without any entry cannot hold a main class.
    [Template]    Broken JAR Should Fail The Task
    empty.jar    is an empty JAR (the zip has no entries)

Zero Byte File Is Reported As Empty
    [Documentation]    A zero-byte file (a failed copy) is named as such, not as a zip error.
    [Template]    Broken JAR Should Fail The Task
    zero-bytes.jar    is empty (0 bytes), not a JAR file

JAR Without Main Class Is Reported With The Fix
    [Documentation]    ``java -jar`` needs a Main-Class in the manifest; the message says to set ``class``.
    [Template]    Broken JAR Should Fail The Task
    no-main-class.jar    has no Main-Class in META-INF/MANIFEST.MF; set class in the task config

Text File Named Like A JAR Is Reported As Not A JAR
    [Documentation]    A text file with a ``.jar`` name is recognised as not being a zip at all.
    [Template]    Broken JAR Should Fail The Task
    text.jar    is not a JAR (zip) file

Script Delivered Instead Of A JAR Is Reported With What Local Holds
    [Documentation]    A job whose only artifact is a Python script finds no JAR to run; the message
    ...    names what ``local/`` holds instead.
    ${url}=    Get Artifact Url    broken/script.py
    ${job}=    Submit Job    java-batch    artifacts=${{ [{"source": $url}] }}
    Task Should Fail To Start    ${job}    no jar_path or class given and local/ holds 0 JARs (it holds script.py)

Job Asking For A Java Version Not Installed Lists The Installed Ones
    [Documentation]    ``java_version = 8`` on a node without Java 8 fails, listing every Java version
    ...    the driver fingerprinted on this node with its home.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    config=${{ {"java_version": 8} }}
    Task Should Fail To Start    ${job}    Java 8 is not installed; available:
    Task Events Should Contain    ${job}    Driver Failure    list its home in the crunjar plugin's java_runtimes
    ${driver}=    Get Driver Info
    ${homes}=    Get Installed Java Homes    ${driver}[Attributes]
    Should Not Be Empty    ${homes}
    FOR    ${version}    ${home}    IN    &{homes}
        Task Events Should Contain    ${job}    Driver Failure    ${version} (${home})
    END

Agent Without A Working JDK Reports The Driver Unhealthy
    [Documentation]    When the only Java runtime configured has no ``bin/java``, the driver is
    ...    unhealthy and says what it searched and why it found nothing.
    [Tags]    needs:local-agents
    ${not_a_jdk}=    Evaluate    tempfile.mkdtemp(prefix="no-jdk-")    modules=tempfile
    ${agent}=    Start Nomad Server    name=no-jdk    plugin_config=${{ {"java_runtimes": [$not_a_jdk]} }}
    ...    wait_for_driver=${False}
    ${health}=    Driver Should Not Be Healthy    agent=${agent}
    Should Contain    ${health}    no working JDK found; searched ${not_a_jdk}
    Should Contain    ${health}    ${not_a_jdk}: no executable bin/java
    [Teardown]    Stop Agent And Remove Dir    ${agent}    ${not_a_jdk}

Agent Waiting For An Unhealthy Driver Fails With Its Health Description
    [Documentation]    Waiting for a healthy driver that stays unhealthy fails within the timeout, naming
    ...    the driver's health description, and the agent that never got ready is removed at once.
    [Tags]    needs:local-agents
    ${not_a_jdk}=    Evaluate    tempfile.mkdtemp(prefix="no-jdk-")    modules=tempfile
    ${message}=    Run Keyword And Expect Error    *
    ...    Start Nomad Server    name=no-jdk-wait    timeout=5s    plugin_config=${{ {"java_runtimes": [$not_a_jdk]} }}
    Should Contain    ${message}    driver 'crunjar' detected=True healthy=False
    Should Contain    ${message}    no working JDK found; searched ${not_a_jdk}
    Run Keyword And Expect Error    *No Nomad agent named 'no-jdk-wait'*    Get Nomad Agent Info    no-jdk-wait
    [Teardown]    Stop Agent And Remove Dir    ${None}    ${not_a_jdk}

Broken JDK Is Reported With Its Own Error
    [Documentation]    A JDK whose ``java`` fails is named with its error in the driver's health (the
    ...    working JDK keeps the driver healthy), and a task pinned to it fails with that error.
    [Tags]    needs:local-agents
    ${fake}=    crunjar.Create Fake JDK    Error: could not find libjvm.so
    ${good}=    crunjar.Get Default Java Home
    ${agent}=    Start Nomad Server    name=broken-jdk    plugin_config=${{ {"java_runtimes": [$fake, $good]} }}
    ${driver}=    Get Driver Info    agent=${agent}
    Should Contain    ${driver}[HealthDescription]
    ...    broken JDKs ignored: ${fake}: `java -version` failed (exit status 1): Error: could not find libjvm.so
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    config=${{ {"java_home": $fake} }}
    ...    agent=${agent}
    Task Should Fail To Start    ${job}
    ...    java_home ${fake}: `java -version` failed (exit status 1): Error: could not find libjvm.so    agent=${agent}
    [Teardown]    Stop Agent And Remove Dir    ${agent}    ${fake}

Container Creation Failure Surfaces Crun's Message
    [Documentation]    A capability crun does not know, allowed by the plugin configuration and added by
    ...    the job, makes ``crun create`` fail; the task fails with crun's own words, once.
    [Tags]    needs:local-agents
    VAR    @{caps}=    CAP_CHOWN    CAP_BOGUS
    ${agent}=    Start Nomad Server    name=bogus-cap    plugin_config=${{ {"allow_caps": $caps} }}
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    config=${{ {"cap_add": ["bogus"]} }}
    ...    agent=${agent}
    Task Should Fail To Start    ${job}    crun create: unknown cap: `CAP_BOGUS`    agent=${agent}
    ${failure}=    Task Events Should Contain    ${job}    Driver Failure    agent=${agent}
    Should Be Equal As Integers    ${{ $failure["message"].count("unknown cap") }}    1
    [Teardown]    Stop Agent Of Test    ${agent}


*** Keywords ***
Broken JAR Should Fail The Task
    [Documentation]    Runs the broken fixture ``fixture`` as the job's JAR and expects the driver's
    ...    ``message`` about it (after the path it was given).
    [Arguments]    ${fixture}    ${message}
    ${job}=    Submit Job    java-batch    jar_path=${FIXTURES}/${fixture}
    Task Should Fail To Start    ${job}    ${FIXTURES}/${fixture} ${message}

Get Installed Java Homes
    [Documentation]    The Java versions the driver fingerprinted, each with its home.
    [Arguments]    ${attributes}
    # Attributes driver.crunjar.java.<version>.home
    ${homes}=    Evaluate    {key.split(".")[3]: value for key, value in $attributes.items() if key.endswith(".home")}
    RETURN    ${homes}

Stop Agent And Remove Dir
    [Documentation]    Teardown: stops the test's own agent, then removes a directory it was given; either
    ...    may be ``${None}``, when the test was skipped before it made them.
    [Arguments]    ${agent}    ${directory}
    Stop Agent Of Test    ${agent}
    IF    $directory is not None
        Remove Directory    ${directory}    recursive=${True}
    END
