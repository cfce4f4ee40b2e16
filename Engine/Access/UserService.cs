using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Access;

/// <summary>A key's secret, once: the user sees it when the key is made and never again.</summary>
public sealed record NewApiKey(string AccessKeyId, string SecretAccessKey);

/// <summary>What SigV4 needs of a stored key: the secret to check the signature with, and who the caller then is.</summary>
public sealed record ApiCredential(Actor Actor, string SecretAccessKey);

/// <summary>
/// The people who sign in (<c>Auth:Mode</c> <c>Local</c> and <c>Oidc</c>) and their API keys. Passwords are hashed by
/// ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (PBKDF2-HMAC-SHA512, 100,000 iterations, a salt per
/// password); key secrets are encrypted with the portal's data protection keys. An Admin always remains: the last
/// enabled Admin cannot be disabled or given a lesser role.
/// </summary>
public sealed partial class UserService(
    IDbContextFactory<BatchDbContext> dbFactory,
    IDataProtectionProvider dataProtection,
    TimeProvider time)
{
    public const string WrongCredentials = "The user name or password is wrong.";

    private static readonly PasswordHasher<PortalUser> Hasher = new();

    // Hashed once, so that a sign-in with an unknown name costs what one with a known name does.
    private static readonly string DummyHash = Hasher.HashPassword(null!, "not a password of anyone");

    private readonly IDataProtector _secrets = dataProtection.CreateProtector("BatchPortal.ApiKeys.v1");

    // SigV4 resolves a key on every signed request: from here, emptied whenever a user or a key changes.
    private readonly ConcurrentDictionary<string, ApiCredential?> _keys = new(StringComparer.Ordinal);

    // Sessions are checked against the user as stored (disabled, role, stamp) on every request and circuit action.
    private readonly ConcurrentDictionary<string, PortalUser?> _users = new(StringComparer.OrdinalIgnoreCase);

    public static string? CheckUserName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return "User name is required.";
        }

        if (name.Length > PortalUser.MaxUserNameLength || !UserNamePattern().IsMatch(name))
        {
            return $"User name must be 1 to {PortalUser.MaxUserNameLength} letters, digits, '.', '_', '-' or '@', not '{name}'.";
        }

        return null;
    }

    public static string? CheckPassword(string? password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < PortalUser.MinPasswordLength)
        {
            return $"Password must have at least {PortalUser.MinPasswordLength} characters.";
        }

        return password.Length > PortalUser.MaxPasswordLength ? $"Password must have at most {PortalUser.MaxPasswordLength} characters." : null;
    }

    public async Task<IReadOnlyList<PortalUser>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Users.AsNoTracking().Include(u => u.ApiKeys).OrderBy(u => u.UserName).ToListAsync(ct);
    }

    public async Task<PortalUser?> GetAsync(string userName, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Users.AsNoTracking().Include(u => u.ApiKeys).FirstOrDefaultAsync(u => u.UserName == userName, ct);
    }

    public async Task<bool> AnyAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Users.AnyAsync(ct);
    }

    public async Task<Result<PortalUser>> CreateAsync(string? userName, string? password, Role role, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageUsers, "CreateUser") is { } refused)
        {
            return refused;
        }

        var errors = new List<FieldError>();
        if (CheckUserName(userName) is { } nameError)
        {
            errors.Add(new("userName", nameError));
        }

        if (CheckPassword(password) is { } passwordError)
        {
            errors.Add(new("password", passwordError));
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (errors.Count == 0 && await db.Users.AnyAsync(u => u.UserName == userName, ct))
        {
            errors.Add(new("userName", $"A user named {userName} already exists."));
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var user = new PortalUser { UserName = userName!, Role = role, CreatedAt = time.GetUtcNow() };
        user.PasswordHash = Hasher.HashPassword(user, password!);
        db.Users.Add(user);
        db.AuditEntries.Add(AuditEntry.For(by ?? Actor.Engine, "CreateUser", user.UserName, $"role {role}", time.GetUtcNow()));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return new ValidationFailed("userName", $"A user named {userName} already exists.");
        }

        Forget();
        return user;
    }

    /// <summary>Makes the first Admin when no user exists yet (<c>Auth:BootstrapAdmin</c>); does nothing otherwise.</summary>
    public async Task<Result<bool>> BootstrapAsync(string userName, string password, CancellationToken ct = default)
    {
        if (await AnyAsync(ct))
        {
            return false;
        }

        var created = await CreateAsync(userName, password, Role.Admin, new Actor("Auth:BootstrapAdmin", Role.Admin, ActorVia.Engine), ct);
        return created.IsSuccess ? true : created.Error!;
    }

    public Task<Result<PortalUser>> SetRoleAsync(string userName, Role role, Actor? by = null, CancellationToken ct = default) =>
        ChangeAsync(userName, by, "SetUserRole", $"role {role}", u => u.Role = role, ct);

    public Task<Result<PortalUser>> SetDisabledAsync(string userName, bool disabled, Actor? by = null, CancellationToken ct = default) =>
        ChangeAsync(userName, by, disabled ? "DisableUser" : "EnableUser", null, u => u.Disabled = disabled, ct);

    public async Task<Result<PortalUser>> ResetPasswordAsync(string userName, string? password, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageUsers, "ResetPassword") is { } refused)
        {
            return refused;
        }

        if (CheckPassword(password) is { } error)
        {
            return new ValidationFailed("password", error);
        }

        return await ChangeAsync(userName, by, "ResetPassword", null, u => u.PasswordHash = Hasher.HashPassword(u, password!), ct);
    }

    /// <summary>Checks a password; the same message for an unknown name as for a wrong password.</summary>
    public async Task<Result<PortalUser>> SignInAsync(string? userName, string? password, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = string.IsNullOrWhiteSpace(userName) || string.IsNullOrEmpty(password) || password.Length > PortalUser.MaxPasswordLength
            ? null
            : await db.Users.FirstOrDefaultAsync(u => u.UserName == userName, ct);
        if (user?.PasswordHash is null)
        {
            Hasher.VerifyHashedPassword(null!, DummyHash, password ?? string.Empty);
            return new ResourceConflict(WrongCredentials);
        }

        var verdict = Hasher.VerifyHashedPassword(user, user.PasswordHash, password!);
        if (verdict == PasswordVerificationResult.Failed)
        {
            return new ResourceConflict(WrongCredentials);
        }

        if (user.Disabled)
        {
            return new ResourceConflict($"User {user.UserName} is disabled; an Admin can enable it again.");
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = Hasher.HashPassword(user, password!);
        }

        user.LastSignInAt = time.GetUtcNow();
        db.AuditEntries.Add(AuditEntry.For(new Actor(user.UserName, user.Role, ActorVia.Console), "SignIn", user.UserName, null, time.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        Forget();
        return user;
    }

    /// <summary>
    /// An OpenID Connect sign-in: the provider vouched for the name and the role. The user is recorded (so that their
    /// API keys act with the role of their latest sign-in, and an Admin can disable them here too).
    /// </summary>
    public async Task<Result<PortalUser>> SignInExternalAsync(string userName, Role role, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == userName, ct);
        if (user is null)
        {
            user = new PortalUser { UserName = userName, Role = role, External = true, CreatedAt = time.GetUtcNow() };
            db.Users.Add(user);
        }
        else if (user.Disabled)
        {
            return new ResourceConflict($"User {user.UserName} is disabled; an Admin can enable it again.");
        }
        else if (user.Role != role)
        {
            user.Role = role;
            user.SecurityStamp = Guid.NewGuid().ToString("N");
        }

        user.LastSignInAt = time.GetUtcNow();
        db.AuditEntries.Add(AuditEntry.For(new Actor(user.UserName, role, ActorVia.Console), "SignIn", user.UserName, $"OpenID Connect, role {role}", time.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        Forget();
        return user;
    }

    /// <summary>The stored user a session belongs to, while it is still valid: enabled, and nothing changed since sign-in.</summary>
    public async Task<PortalUser?> SessionUserAsync(string userName, string? securityStamp, CancellationToken ct = default)
    {
        if (!_users.TryGetValue(userName, out var user))
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.UserName == userName, ct);
            _users[userName] = user;
        }

        return user is { Disabled: false } && string.Equals(user.SecurityStamp, securityStamp, StringComparison.Ordinal) ? user : null;
    }

    public async Task<Result<NewApiKey>> CreateKeyAsync(string userName, string? description, Actor? by = null, CancellationToken ct = default)
    {
        // Everyone makes their own keys (they act with their own role); an Admin makes anyone's.
        if (by is not null && !string.Equals(by.Name, userName, StringComparison.OrdinalIgnoreCase) && AccessPolicy.Refuse(by, Permission.ManageUsers, "CreateAccessKey") is { } refused)
        {
            return refused;
        }

        if (description is { Length: > 256 })
        {
            return new ValidationFailed("description", "Description must have at most 256 characters.");
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == userName, ct);
        if (user is null)
        {
            return new ResourceNotFound("User", userName);
        }

        var keyId = "BPAK" + RandomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        var secret = RandomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        db.ApiKeys.Add(new ApiKey
        {
            AccessKeyId = keyId,
            UserName = user.UserName,
            ProtectedSecret = _secrets.Protect(secret),
            Description = string.IsNullOrWhiteSpace(description) ? null : description.Trim(),
            CreatedAt = time.GetUtcNow(),
        });
        db.AuditEntries.Add(AuditEntry.For(by ?? Actor.Engine, "CreateAccessKey", user.UserName, keyId, time.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        Forget();
        return new NewApiKey(keyId, secret);
    }

    public async Task<Result<bool>> RevokeKeyAsync(string accessKeyId, Actor? by = null, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.AccessKeyId == accessKeyId, ct);
        if (key is null)
        {
            return new ResourceNotFound("Access key", accessKeyId);
        }

        if (by is not null && !string.Equals(by.Name, key.UserName, StringComparison.OrdinalIgnoreCase) && AccessPolicy.Refuse(by, Permission.ManageUsers, "RevokeAccessKey") is { } refused)
        {
            return refused;
        }

        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow();
            db.AuditEntries.Add(AuditEntry.For(by ?? Actor.Engine, "RevokeAccessKey", key.UserName, accessKeyId, time.GetUtcNow()));
            await db.SaveChangesAsync(ct);
            Forget();
        }

        return true;
    }

    /// <summary>Whose a key is; null for a key that is unknown, revoked, or of a disabled user.</summary>
    public async Task<ApiKey?> KeyAsync(string accessKeyId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.AccessKeyId == accessKeyId, ct);
    }

    /// <summary>The credential a signed request names, for SigV4; null when the key is unknown, revoked or its user disabled.</summary>
    public async ValueTask<ApiCredential?> CredentialAsync(string accessKeyId, CancellationToken ct = default)
    {
        if (_keys.TryGetValue(accessKeyId, out var known))
        {
            return known;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.ApiKeys.AsNoTracking()
            .Where(k => k.AccessKeyId == accessKeyId && k.RevokedAt == null)
            .Join(db.Users.Where(u => !u.Disabled), k => k.UserName, u => u.UserName, (k, u) => new { k.ProtectedSecret, u.UserName, u.Role })
            .FirstOrDefaultAsync(ct);
        ApiCredential? credential = null;
        if (row is not null)
        {
            try
            {
                credential = new ApiCredential(new Actor(row.UserName, row.Role, ActorVia.ApiKey, accessKeyId), _secrets.Unprotect(row.ProtectedSecret));
            }
            catch (CryptographicException)
            {
                // Encrypted with data protection keys this portal no longer has (the data folder's keys/ was lost): unusable.
                credential = null;
            }
        }

        // Known keys only: an unknown id is not remembered, so the cache cannot be filled by guessing.
        if (credential is not null)
        {
            _keys[accessKeyId] = credential;
        }

        return credential;
    }

    private async Task<Result<PortalUser>> ChangeAsync(string userName, Actor? by, string action, string? detail, Action<PortalUser> change, CancellationToken ct)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageUsers, action) is { } refused)
        {
            return refused;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var user = await db.Users.FirstOrDefaultAsync(u => u.UserName == userName, ct);
        if (user is null)
        {
            return new ResourceNotFound("User", userName);
        }

        var wasActiveAdmin = user is { Role: Role.Admin, Disabled: false };
        change(user);
        if (wasActiveAdmin && (user.Role != Role.Admin || user.Disabled)
            && !await db.Users.AnyAsync(u => u.UserName != user.UserName && u.Role == Role.Admin && !u.Disabled, ct))
        {
            return new ResourceConflict($"{user.UserName} is the last enabled Admin: make another user an Admin first.");
        }

        user.SecurityStamp = Guid.NewGuid().ToString("N");
        db.AuditEntries.Add(AuditEntry.For(by ?? Actor.Engine, action, user.UserName, detail, time.GetUtcNow()));
        await db.SaveChangesAsync(ct);
        Forget();
        return user;
    }

    private void Forget()
    {
        _keys.Clear();
        _users.Clear();
    }

    private static string RandomString(int length, string alphabet) =>
        string.Create(length, alphabet, (span, a) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = a[RandomNumberGenerator.GetInt32(a.Length)];
            }
        });

    [GeneratedRegex("^[A-Za-z0-9._@-]+$")]
    private static partial Regex UserNamePattern();
}
