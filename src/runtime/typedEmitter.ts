import { EventEmitter } from "node:events";

/**
 * EventEmitter with event names and listener arguments checked by the compiler:
 * `connection.on("mesage", ...)` is a type error, and `on("message", (channel, data) => ...)`
 * gets `channel: number, data: Uint8Array`. @types/node's `EventEmitter<T>` accepts any
 * string as an event name, so the methods are re-declared here. Runtime: plain EventEmitter.
 */
type TypedMethods =
  | "on" | "once" | "off" | "addListener" | "removeListener" | "prependListener" | "prependOnceListener"
  | "emit" | "removeAllListeners" | "listenerCount" | "listeners" | "rawListeners" | "eventNames";

export interface TypedEventEmitter<Events extends Record<keyof Events, unknown[]>> extends Omit<EventEmitter, TypedMethods> {
  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  addListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  removeListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  prependListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  prependOnceListener<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this;
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean;
  removeAllListeners(event?: keyof Events): this;
  listenerCount<E extends keyof Events>(event: E, listener?: (...args: Events[E]) => void): number;
  listeners<E extends keyof Events>(event: E): Array<(...args: Events[E]) => void>;
  rawListeners<E extends keyof Events>(event: E): Array<(...args: Events[E]) => void>;
  eventNames(): Array<keyof Events>;
}

/** `class X extends TypedEventEmitter<XEvents>`: the constructor is Node's EventEmitter. */
export const TypedEventEmitter = EventEmitter as unknown as new <Events extends Record<keyof Events, unknown[]>>() => TypedEventEmitter<Events>;
