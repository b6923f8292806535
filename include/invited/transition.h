/*
 * transition.h: the lookup every lifecycle's transition table shares. A
 * table is unsigned char table[states][events]: the state an event leads
 * to from a state, 0 where the event is refused (every lifecycle numbers
 * its states from 1, or, for relationships, treats 0 as "none", which is
 * never a target).
 */
#ifndef INVITED_TRANSITION_H
#define INVITED_TRANSITION_H

/* table[from][ev], or -1 when refused or out of range. */
static inline int transition_next(const unsigned char *table, int states, int events, int from,
				  int ev)
{
	if (from < 0 || from >= states || ev <= 0 || ev >= events)
		return -1;
	int to = table[from * events + ev];
	return to != 0 ? to : -1;
}

#define TRANSITION(table, from, ev)                                                         \
	transition_next(&(table)[0][0], (int)(sizeof(table) / sizeof((table)[0])),           \
			(int)(sizeof((table)[0]) / sizeof((table)[0][0])), (int)(from), (int)(ev))

#endif
