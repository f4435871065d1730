import java.time.Instant;

/** Prints the wall-clock time at which main was entered, in microseconds since the epoch. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        Instant now = Instant.now();
        System.out.println("main-entered-epoch-us=" + (now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000L));
    }
}
