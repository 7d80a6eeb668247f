package sample;

import java.util.ArrayList;
import java.util.List;

/** A fixed-capacity stack of integers. */
public final class Grouping {
    private final int[] items;
    private int size;

    public Grouping(int capacity) {
        items = new int[capacity];
    }

    public void push(int value) {
        if (size == items.length) {
            throw new IllegalStateException("stack is full");
        }
        items[size++] = value;
    }

    public int pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return items[--size];
    }

    public List<Integer> toList() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < size; i++) out.add(items[i]);
        return out;
    }
}
package sample;

import java.util.ArrayList;
import java.util.List;

/** A fixed-capacity stack of integers. */
public final class Grouping {
    private final int[] items;
    private int size;

    public Grouping(int capacity) {
        items = new int[capacity];
    }

    public void push(int value) {
        if (size == items.length) {
            throw new IllegalStateException("stack is full");
        }
        items[size++] = value;
    }

    public int pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return items[--size];
    }

    public List<Integer> toList() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < size; i++) out.add(items[i]);
        return out;
    }
}
package sample;

import java.util.ArrayList;
import java.util.List;

/** A fixed-capacity stack of integers. */
public final class Grouping {
    private final int[] items;
    private int size;

    public Grouping(int capacity) {
        items = new int[capacity];
    }

    public void push(int value) {
        if (size == items.length) {
            throw new IllegalStateException("stack is full");
        }
        items[size++] = value;
    }

    public int pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return items[--size];
    }

    public List<Integer> toList() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < size; i++) out.add(items[i]);
        return out;
    }
}
package sample;

import java.util.ArrayList;
import java.util.List;

/** A fixed-capacity stack of integers. */
public final class Grouping {
    private final int[] items;
    private int size;

    public Grouping(int capacity) {
        items = new int[capacity];
    }

    public void push(int value) {
        if (size == items.length) {
            throw new IllegalStateException("stack is full");
        }
        items[size++] = value;
    }

    public int pop() {
        if (size == 0) {
            throw new IllegalStateException("stack is empty");
        }
        return items[--size];
    }

    public List<Integer> toList() {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < size; i++) out.add(items[i]);
        return out;
    }
}
