import sun.misc.Signal;

/** Logs every SIGHUP, SIGUSR1, SIGUSR2 and SIGWINCH it receives, until stopped. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        for (String name : new String[] {"HUP", "USR1", "USR2", "WINCH"}) {
            Signal.handle(new Signal(name), signal -> System.out.println("received SIG" + signal.getName()));
        }
        System.out.println("signal-echo ready");
        Thread.currentThread().join();
    }
}
