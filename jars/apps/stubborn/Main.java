import sun.misc.Signal;

/** Ignores SIGTERM and SIGINT, so only SIGKILL stops it. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        Signal.handle(new Signal("TERM"), signal -> System.out.println("ignoring SIG" + signal.getName()));
        Signal.handle(new Signal("INT"), signal -> System.out.println("ignoring SIG" + signal.getName()));
        System.out.println("stubborn started");
        Thread.currentThread().join();
    }
}
