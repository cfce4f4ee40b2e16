using BatchPortal.Engine.Notifications;

namespace BatchPortal.Engine.Dispatch;

/// <summary>The dispatcher's wake-up: any number of notifications between two passes cause one pass.</summary>
public sealed class DispatchSignal : WakeSignal;
