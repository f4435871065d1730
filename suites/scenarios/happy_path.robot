*** Settings ***
Documentation     Story: happy path. A JAR given by path or fetched over HTTP runs to completion with
...               exactly the output, arguments and environment it was given, reads resources
...               delivered next to it, and shares files with the other tasks of its allocation.

Resource          ../../resources/scenarios.resource

Suite Setup       Start Shared Agent And Artifact Server
Suite Teardown    Stop Jobs And Check For Leaks

Test Tags         area:happy    story:happy-path


*** Test Cases ***
Simple JAR Prints Exactly Its Output
    [Documentation]    A JAR with no arguments completes with exit code 0 and exactly its two lines
    ...    on stdout, nothing on stderr.
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/echo.jar
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Be Equal    ${job}    echo started\nargc=0\n
    Task Log Should Be Equal    ${job}    ${EMPTY}    stream=stderr
    Task Exit Code Should Be    ${job}    0

Arguments Reach The Main Class Unchanged
    [Documentation]    Each argument arrives as one, unsplit and unexpanded: spaces, quotes, shell
    ...    characters and an empty argument included.
    [Tags]    needs:args
    VAR    @{args}=    one    two words    ${EMPTY}    "quoted"    $HOME    *    --flag=value
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/echo.jar    args=${args}
    Wait For Job To Complete Successfully    ${job}
    ${expected}=    Catenate    SEPARATOR=\n
    ...    echo started
    ...    argc=7
    ...    argv[0]=<one>
    ...    argv[1]=<two words>
    ...    argv[2]=<>
    ...    argv[3]=<"quoted">
    ...    argv[4]=<$HOME>
    ...    argv[5]=<*>
    ...    argv[6]=<--flag=value>
    ...    ${EMPTY}
    Task Log Should Be Equal    ${job}    ${expected}

Task Environment Is Visible To The JVM
    [Documentation]    Variables of the job's env block and Nomad's own task variables reach the JVM,
    ...    with the values of this very allocation.
    VAR    &{env}=    HELLO_GREETING=hi there    HELLO_MODE=e2e
    ${job}=    Submit Job    java-batch    jar_path=${JARS}/hello.jar    env=${env}    memory=${300}
    Wait For Job To Complete Successfully    ${job}
    ${alloc}=    Get Allocation    ${job}
    Task Log Should Contain Lines    ${job}
    ...    env: HELLO_GREETING=hi there
    ...    env: HELLO_MODE=e2e
    ...    env: NOMAD_JOB_ID=${job}
    ...    env: NOMAD_ALLOC_ID=${alloc}[ID]
    ...    env: NOMAD_TASK_NAME=app
    ...    env: NOMAD_MEMORY_LIMIT=300
    # /local in a container; the host path of the task's local/ for a driver without one.
    Task Log Should Match Regexp    ${job}    (?m)^env: NOMAD_TASK_DIR=(/.*)?/local$

Tasks Of A Group Share Files Through The Alloc Dir
    [Documentation]    Two tasks of one allocation each leave a file in the shared dir ``NOMAD_ALLOC_DIR``
    ...    names and read the one the other task left there: both complete.
    ${job}=    Submit Job    ${CURDIR}/jobs/java-two-tasks.hcl.j2    jar_path=${JARS}/alloc-share.jar
    Wait For Job To Complete Successfully    ${job}
    FOR    ${task}    IN    first    second
        Task Log Should Contain    ${job}    read from another task:    task=${task}
    END

Second Artifact Is Readable In Local
    [Documentation]    A resource file fetched as a second artifact, next to the JAR fetched as the
    ...    first, is in ``local/`` and readable by the application, byte for byte.
    VAR    ${content}=    db.url=jdbc:h2:mem:e2e\nfeature.flags=alpha,beta\n
    ${resource}=    Create Artifact    app.properties    content=${content}
    ${jar}=    Get Artifact Url    resource-reader.jar
    ${artifacts}=    Evaluate    [{"source": $jar}, {"source": $resource}]
    ${job}=    Submit Job    java-batch    jar_path=local/resource-reader.jar    artifacts=${artifacts}
    ...    env=${{ {"APP_ARGS": "local/app.properties"} }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Be Equal    ${job}    BEGIN local/app.properties\n${content}END local/app.properties\n

JAR Delivered As An HTTP Artifact Runs Without A Jar Path
    [Documentation]    A job naming no ``jar_path`` runs the one JAR its artifact put into ``local/``.
    [Tags]    needs:jar-discovery
    ${url}=    Get Artifact Url    echo.jar
    ${job}=    Submit Job    java-batch    artifacts=${{ [{"source": $url}] }}
    Wait For Job To Complete Successfully    ${job}
    Task Log Should Be Equal    ${job}    echo started\nargc=0\n
    Artifact Should Have Been Requested    echo.jar    times=1    status=200
