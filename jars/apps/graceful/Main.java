/** Runs until SIGTERM; its shutdown hook does some cleanup work, then prints a marker. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) throws InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("shutdown hook: cleaning up");
            System.out.println("GRACEFUL-SHUTDOWN-COMPLETE");
            System.out.flush();
        }));
        System.out.println("graceful started");
        Thread.currentThread().join();
    }
}
