/**
 * Compiled with {@code --release 21} (see the release file beside it): its class files are version 65,
 * which a Java 11 or 17 runtime refuses with UnsupportedClassVersionError before main runs. It uses a
 * pattern-matching switch, final only since Java 21.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        Object version = Runtime.version().feature();
        String kind = switch (version) {
            case Integer feature when feature >= 21 -> "Java " + feature;
            default -> "unknown";
        };
        System.out.println("java21-only ran on " + kind + " (" + System.getProperty("java.version") + ")");
    }
}
