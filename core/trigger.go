package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Trigger is what delivers events to an event function: an ObjectTrigger,
// MessageTrigger, ChangeTrigger, TimerTrigger or StreamTrigger.
type Trigger interface {
	// Kinds lists the kinds of event the trigger delivers.
	Kinds() []Kind
	validate() error
}

// ObjectTrigger delivers object-storage events of one bucket.
type ObjectTrigger struct {
	// Bucket is the environment variable that holds the bucket's URL
	// (s3://…, gs://…, azblob://…, file://…), such as "MEDIA_BUCKET_URL".
	Bucket string `json:"bucket"`
	// Events are the kinds delivered, any of ObjectKinds. Empty means
	// KindObjectCreated.
	Events []Kind `json:"events,omitempty"`
	// Prefix and Suffix filter object keys; empty filters nothing.
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
}

// Kinds implements Trigger.
func (t ObjectTrigger) Kinds() []Kind {
	if len(t.Events) == 0 {
		return []Kind{KindObjectCreated}
	}
	return slices.Clone(t.Events)
}

// Matches reports whether the trigger delivers an event of kind k for key.
func (t ObjectTrigger) Matches(k Kind, key string) bool {
	return slices.Contains(t.Kinds(), k) && strings.HasPrefix(key, t.Prefix) && strings.HasSuffix(key, t.Suffix)
}

func (t ObjectTrigger) validate() error {
	if err := checkEnv("Bucket", t.Bucket); err != nil {
		return err
	}
	for _, k := range t.Events {
		if !k.IsObject() {
			return fmt.Errorf("object trigger: event kind %q is not an object event", k)
		}
	}
	return nil
}

// MessageTrigger delivers the messages of a queue or of a topic's subscription.
type MessageTrigger struct {
	// Subscription is the environment variable that holds the URL the
	// messages are received from (awssqs://…, gcppubsub://projects/…/subscriptions/…,
	// azuresb://…, mem://…), such as "ORDERS_SUBSCRIPTION_URL".
	Subscription string `json:"subscription"`
	// Topic optionally names the environment variable holding the URL of the
	// topic that feeds the subscription, for packaging and the local runtime.
	Topic string `json:"topic,omitempty"`
	// Ordered processes each batch in order and stops at the first failure
	// (FIFO queues, ordering keys, sessions).
	Ordered bool `json:"ordered,omitempty"`
	// MaxDeliveries is how many deliveries a failing message gets before it
	// is dead-lettered, where the platform lets polyfn configure it. Zero
	// means 5.
	MaxDeliveries int `json:"maxDeliveries,omitempty"`
}

// Kinds implements Trigger.
func (MessageTrigger) Kinds() []Kind { return []Kind{KindMessage} }

func (t MessageTrigger) validate() error {
	if err := checkEnv("Subscription", t.Subscription); err != nil {
		return err
	}
	if t.Topic != "" {
		if err := checkEnv("Topic", t.Topic); err != nil {
			return err
		}
	}
	if t.MaxDeliveries < 0 {
		return errors.New("message trigger: MaxDeliveries is negative")
	}
	return nil
}

// ChangeTrigger delivers the change stream of a database table, collection
// or container.
type ChangeTrigger struct {
	// Source is the environment variable naming the table, collection or
	// container whose changes are delivered.
	Source string `json:"source"`
	// Ordered processes each batch in order and stops at the first failure.
	Ordered bool `json:"ordered,omitempty"`
}

// Kinds implements Trigger.
func (ChangeTrigger) Kinds() []Kind { return []Kind{KindChange} }

func (t ChangeTrigger) validate() error { return checkEnv("Source", t.Source) }

// TimerTrigger fires on a schedule.
type TimerTrigger struct {
	// Schedule is a cron expression: five fields (minute hour day-of-month
	// month day-of-week), or six with seconds first as Azure writes them, or a
	// descriptor such as "@hourly" or "@every 10m".
	Schedule string `json:"schedule"`
	// TimeZone is the IANA zone the schedule is read in; empty means UTC.
	TimeZone string `json:"timeZone,omitempty"`
}

// Kinds implements Trigger.
func (TimerTrigger) Kinds() []Kind { return []Kind{KindTimer} }

func (t TimerTrigger) validate() error {
	if strings.TrimSpace(t.Schedule) == "" {
		return errors.New("timer trigger: empty schedule")
	}
	return nil
}

// validEnvName reports whether v is an environment variable's name as
// polyfn takes them: upper-case letters, digits and underscores, starting
// with a letter (^[A-Z][A-Z0-9_]*$).
func validEnvName(v string) bool {
	if v == "" || v[0] < 'A' || v[0] > 'Z' {
		return false
	}
	for i := 1; i < len(v); i++ {
		if c := v[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func checkEnv(field, v string) error {
	if !validEnvName(v) {
		return fmt.Errorf("%s %q: want the name of an environment variable holding a URL", field, v)
	}
	return nil
}
